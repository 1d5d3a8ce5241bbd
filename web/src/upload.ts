// Uploading one file: small ones through POST /v1/media (one request through the gateway),
// larger ones straight to storage with createUpload's presigned URL or, past one part, its
// multipart URLs (each part's ETag kept for completeUpload). XHR, not fetch: only XHR reports
// upload progress.
import type { ApolloClient } from '@apollo/client';
import { COMPLETE_UPLOAD, CREATE_UPLOAD } from './operations.js';
import { accessToken } from './session.js';
import type { MediaItem } from './types.js';

/** Files up to this size go through POST /v1/media. */
export const SMALL_FILE_BYTES = 4 * 1024 * 1024;

interface Ticket {
  uploadId: string;
  url: string | null;
  partSize: number | null;
  parts: { partNumber: number; url: string }[];
}

function send(
  method: string,
  url: string,
  body: Blob | FormData,
  headers: Record<string, string>,
  onProgress: (sent: number) => void,
): Promise<XMLHttpRequest> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr);
      let message = `Upload failed (${xhr.status})`;
      try {
        message = (JSON.parse(xhr.responseText) as { error?: string }).error ?? message;
      } catch {
        // not JSON (storage errors are XML)
      }
      reject(new Error(message));
    };
    xhr.onerror = () => reject(new Error('Upload failed: network error'));
    xhr.send(body);
  });
}

export async function uploadFile(
  client: ApolloClient,
  file: File,
  altText: string,
  onProgress: (fraction: number) => void,
): Promise<string> {
  const type = file.type || 'application/octet-stream';
  const token = await accessToken();
  if (file.size <= SMALL_FILE_BYTES) {
    const form = new FormData();
    if (altText) form.append('altText', altText);
    form.append('file', file, file.name);
    const xhr = await send(
      'POST',
      '/v1/media',
      form,
      token ? { authorization: `Bearer ${token}` } : {},
      (sent) => onProgress(sent / file.size),
    );
    onProgress(1);
    return (JSON.parse(xhr.responseText) as { id: string }).id;
  }

  const created = await client.mutate<{ createUpload: Ticket }>({
    mutation: CREATE_UPLOAD,
    variables: {
      input: {
        filename: file.name.slice(0, 255) || 'upload',
        contentType: type,
        byteSize: file.size,
        ...(altText ? { altText } : {}),
      },
    },
  });
  const ticket = created.data!.createUpload;
  let parts: { partNumber: number; etag: string }[] | undefined;
  if (ticket.url) {
    await send('PUT', ticket.url, file, { 'content-type': type }, (sent) =>
      onProgress((0.95 * sent) / file.size),
    );
  } else {
    const partSize = ticket.partSize!;
    parts = [];
    let done = 0;
    for (const part of ticket.parts) {
      const start = (part.partNumber - 1) * partSize;
      const blob = file.slice(start, Math.min(start + partSize, file.size));
      const xhr = await send('PUT', part.url, blob, { 'content-type': type }, (sent) =>
        onProgress((0.95 * (done + sent)) / file.size),
      );
      done += blob.size;
      parts.push({ partNumber: part.partNumber, etag: xhr.getResponseHeader('etag') ?? '' });
    }
  }
  const completed = await client.mutate<{ completeUpload: MediaItem }>({
    mutation: COMPLETE_UPLOAD,
    variables: { uploadId: ticket.uploadId, ...(parts ? { parts } : {}) },
  });
  onProgress(1);
  return completed.data!.completeUpload.id;
}
