#!/bin/sh
# docker compose `minio-init` (one-shot, the minio image built from deploy/minio/Dockerfile,
# which ships mc): creates the media bucket, the application user the services use (a policy
# that allows that bucket only, so no Mosaic container holds MinIO's root credentials) and
# the bucket's anonymous policy: GET of processed media (keys under m/) and nothing else, so
# the unsigned URLs the post service hands out (MINIO_PUBLIC_BASE_URL, served through lb's
# /objects/ location) resolve, while upload originals (u/) and listings stay private.
# Idempotent: re-running it sets the application user's secret and both policies again.
set -eu

for v in "$MINIO_ROOT_PASSWORD" "$MINIO_APP_SECRET_KEY"; do
  case "$v" in *change-me*)
    echo "minio-init: replace the change-me placeholders (.env.example) with real secrets" >&2
    exit 1
  esac
done

export MC_CONFIG_DIR=/tmp/.mc
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$MINIO_BUCKET"

cat >/tmp/mosaic-app-policy.json <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$MINIO_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts"
      ],
      "Resource": ["arn:aws:s3:::$MINIO_BUCKET/*"]
    }
  ]
}
POLICY
mc admin policy create local mosaic-media-rw /tmp/mosaic-app-policy.json >/dev/null
mc admin user add local "$MINIO_APP_ACCESS_KEY" "$MINIO_APP_SECRET_KEY" >/dev/null
# Attaching a policy twice is an error: attach only when the user does not have it yet.
if ! mc admin user info --json local "$MINIO_APP_ACCESS_KEY" |
  grep -q '"policyName": *"[^"]*mosaic-media-rw'; then
  mc admin policy attach local mosaic-media-rw --user "$MINIO_APP_ACCESS_KEY" >/dev/null
fi

# Anonymous readers: s3:GetObject on m/* only. No s3:ListBucket (no listing), nothing on u/
# (raw upload originals: EXIF, GPS, unchecked bytes) or any other prefix or bucket.
cat >/tmp/mosaic-anonymous-policy.json <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": { "AWS": ["*"] },
      "Action": ["s3:GetObject"],
      "Resource": ["arn:aws:s3:::$MINIO_BUCKET/m/*"]
    }
  ]
}
POLICY
mc anonymous set-json /tmp/mosaic-anonymous-policy.json "local/$MINIO_BUCKET" >/dev/null
echo "minio-init: bucket $MINIO_BUCKET (anonymous GET on m/ only) and user $MINIO_APP_ACCESS_KEY ready"
