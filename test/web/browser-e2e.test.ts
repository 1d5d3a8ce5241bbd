// The web app (web/) in headless Chromium against the whole stack: two users sign up, one
// posts a carousel of an image (POST /v1/media) and a > 5 MB video (createUpload's multipart
// path, straight from the browser), the other follows, sees it in the feed and finds it by
// hashtag and by caption. No console errors, no failed requests; a screenshot of each screen
// goes to test-results/web/ (CI keeps it), and WEB_SCREENSHOT_FEED=<file> also writes the
// feed's (the README's docs/web-feed.png).
// Chromium: CHROMIUM_PATH or Debian's /usr/bin/chromium (.ci/run installs it). Without it
// the test is skipped locally, and fails under CI=true.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const OUT = path.resolve('test-results/web');
/** Direct uploads above this are multipart (S3's minimum part size). */
const PART_SIZE = 5 * 1024 * 1024;

if (!HAVE_CHROMIUM && process.env.CI) {
  throw new Error(`Chromium not found at ${CHROMIUM}: .ci/run installs Debian's chromium`);
}

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * The app's origin on a port fixed before the stack starts, so that PUBLIC_URL (media and
 * upload URLs) is the origin the browser loads the app from: a plain TCP relay to the gateway.
 */
async function relay(port: number, target: number): Promise<Server> {
  const srv = createServer((client) => {
    const upstream = createConnection(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
  return srv;
}

/** A photo: a sunset over the sea (sharp edges, so it is told apart from its BlurHash). */
async function photo(): Promise<Buffer> {
  const waves = Array.from({ length: 9 }, (_, i) => {
    const y = 820 + i * 45;
    return `<path d="M0 ${y} Q 200 ${y - 25} 400 ${y} T 800 ${y} T 1200 ${y} T 1600 ${y}"
      stroke="#ffffff" stroke-opacity="0.35" stroke-width="6" fill="none"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1200">
    <defs>
      <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
        <stop offset="0" stop-color="#2b1055"/><stop offset="0.55" stop-color="#d53369"/>
        <stop offset="1" stop-color="#ffb347"/>
      </linearGradient>
      <linearGradient id="sea" x1="0" y1="0" x2="0" y2="1">
        <stop offset="0" stop-color="#1e3c72"/><stop offset="1" stop-color="#0b1a33"/>
      </linearGradient>
    </defs>
    <rect width="1600" height="760" fill="url(#sky)"/>
    <circle cx="800" cy="720" r="170" fill="#ffd56b"/>
    <rect y="760" width="1600" height="440" fill="url(#sea)"/>
    <rect x="700" y="790" width="200" height="14" fill="#ffd56b" opacity="0.7"/>
    <rect x="740" y="830" width="120" height="10" fill="#ffd56b" opacity="0.5"/>
    ${waves}
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** A video of more than 5 MiB: 7 s of lossless H.264 test pattern with audio. */
async function bigVideo(file: string): Promise<void> {
  await run(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-y']
      .concat(['-f', 'lavfi', '-i', 'testsrc2=duration=7:size=960x540:rate=30'])
      .concat(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=7'])
      .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p'])
      .concat(['-c:a', 'aac', '-shortest', file]),
    { timeout: 60_000 },
  );
}

interface Watched {
  problems: string[];
  requests: { method: string; url: string; status: number }[];
}

/** Records console errors, page errors, failed requests and 4xx/5xx answers of a page. */
function watch(page: Page, who: string): Watched {
  const w: Watched = { problems: [], requests: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error') w.problems.push(`${who} console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => w.problems.push(`${who} page error: ${String(err)}`));
  page.on('requestfailed', (req) => {
    // A video element cancels its own range requests as it buffers: not a failure.
    if (req.failure()?.errorText === 'net::ERR_ABORTED' && req.resourceType() === 'media') return;
    w.problems.push(
      `${who} request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`,
    );
  });
  page.on('response', (res) => {
    const req = res.request();
    w.requests.push({ method: req.method(), url: res.url(), status: res.status() });
    if (res.status() >= 400)
      w.problems.push(`${who} ${req.method()} ${res.url()} → ${res.status()}`);
  });
  return w;
}

/** GraphQL errors the app received (they come with status 200). */
function watchGraphqlErrors(page: Page, w: Watched, who: string): void {
  page.on('response', (res) => {
    if (!res.url().endsWith('/graphql') || res.request().method() !== 'POST') return;
    void res
      .text()
      .then((text) => {
        if (text.includes('"errors"')) w.problems.push(`${who} GraphQL errors: ${text}`);
      })
      .catch(() => {});
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('document.fonts.ready');
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
}

/** Reloads `url` until `selector` shows (the feed and search catch up within moments). */
async function reloadUntil(page: Page, url: string, selector: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    await page.goto(url, { waitUntil: 'networkidle0' });
    const found = await page.$(selector);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${selector} did not appear on ${url}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe.skipIf(!HAVE_CHROMIUM)('web app in Chromium', () => {
  let stack: Stack;
  let origin: string;
  let front: Server;
  let browser: Browser;
  let tmp: string;
  let imageFile: string;
  let videoFile: string;

  beforeAll(async () => {
    await mkdir(OUT, { recursive: true });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mosaic-web-'));
    imageFile = path.join(tmp, 'bay.jpg');
    videoFile = path.join(tmp, 'waves.mp4');
    const building = run('node_modules/.bin/vite', ['build', '--config', 'web/vite.config.ts'], {
      timeout: 120_000,
    });
    await Promise.all([building, writeFile(imageFile, await photo()), bigVideo(videoFile)]);
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    stack = await startStack({
      env: { PUBLIC_URL: origin, UPLOAD_PART_SIZE_BYTES: String(PART_SIZE) },
    });
    front = await relay(port, Number(new URL(stack.gatewayUrl).port));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // root in CI: Chromium's sandbox needs an unprivileged user; /dev/shm may be small.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--mute-audio'],
      defaultViewport: { width: 900, height: 1000 },
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (front ? front.close(resolve) : resolve(undefined)));
    await stack?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the gateway serves the app: index revalidated, hashed assets immutable, API beside it', async () => {
    const index = await fetch(`${origin}/u/anyone/followers`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // fetch() asks for gzip and unpacks it: the body is the script either way.
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    expect(await asset.text()).toContain('createRoot');
    expect((await fetch(`${origin}/assets/nothing-here.js`)).status).toBe(404);
    expect((await fetch(`${origin}/assets/..%2Fpackage.json`)).status).toBe(404);
    const api = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(await api.json()).toEqual({ data: { me: null } });
  });

  it('two users: sign up, post a carousel through the multipart path, follow, feed, search', async () => {
    const { size: videoBytes } = await stat(videoFile);
    expect(videoBytes).toBeGreaterThan(PART_SIZE);

    const ada = await (await browser.createBrowserContext()).newPage();
    const bob = await (await browser.createBrowserContext()).newPage();
    // Generous under a loaded CI machine (the whole suite runs beside this test).
    for (const page of [ada, bob]) page.setDefaultTimeout(60_000);
    const adaLog = watch(ada, 'ada');
    const bobLog = watch(bob, 'bob');
    watchGraphqlErrors(ada, adaLog, 'ada');
    watchGraphqlErrors(bob, bobLog, 'bob');
    try {
      await journey(ada, bob, adaLog, bobLog, videoBytes);
    } catch (err) {
      // What the pages showed and logged when it failed (CI keeps test-results/web).
      await shot(ada, 'failure-ada').catch(() => {});
      await shot(bob, 'failure-bob').catch(() => {});
      console.error([...adaLog.problems, ...bobLog.problems].join('\n'));
      throw err;
    }
    expect([...adaLog.problems, ...bobLog.problems]).toEqual([]);
  }, 300_000);

  async function journey(
    ada: Page,
    bob: Page,
    adaLog: Watched,
    _bobLog: Watched,
    videoBytes: number,
  ) {
    // ---- ada signs up (the app sends signed-out visitors to /login first)
    await ada.goto(`${origin}/`, { waitUntil: 'networkidle0' });
    expect(new URL(ada.url()).pathname).toBe('/login');
    await shot(ada, '01-login');
    await ada.click('::-p-text(Sign up)');
    await ada.waitForSelector('form[aria-label="Sign up"]');
    await ada.type('input[name=username]', 'ada_web');
    await ada.type('input[name=email]', 'ada_web@example.com');
    await ada.type('input[name=displayName]', 'Ada Lovelace');
    await ada.type('input[name=password]', 'correct horse battery');
    await shot(ada, '02-signup');
    await ada.click('button[type=submit]');
    await ada.waitForSelector('::-p-text(Your feed is empty)');
    await shot(ada, '03-feed-empty');

    // ---- ada posts a carousel: the photo, then the video
    await ada.click('nav ::-p-text(New post)');
    const input = await ada.waitForSelector('input[type=file]');
    await input!.uploadFile(imageFile, videoFile);
    await ada.waitForSelector('::-p-aria(Alt text for item 2)');
    await ada.type('::-p-aria(Alt text for item 1)', 'The bay at sunset');
    await ada.type('::-p-aria(Alt text for item 2)', 'Waves rolling in');
    await ada.type('textarea[name=caption]', 'Sunset over the bay #golden_hour');
    await shot(ada, '04-new-post');
    await ada.click('button[type=submit]');
    await ada.waitForSelector('progress');
    await shot(ada, '05-uploading');
    await ada.waitForFunction('location.pathname.startsWith("/p/")', { timeout: 120_000 });
    const postId = new URL(ada.url()).pathname.slice(3);
    await ada.waitForSelector('article.post img.loaded');
    await shot(ada, '06-post');

    // The photo went through POST /v1/media, the video in parts straight to storage.
    const ok = (r: { status: number }) => r.status >= 200 && r.status < 300;
    expect(
      adaLog.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/v1/media') && ok(r)),
    ).toHaveLength(1);
    const parts = adaLog.requests.filter(
      (r) => r.method === 'PUT' && r.url.startsWith(`${origin}/v1/uploads/`) && ok(r),
    );
    expect(parts).toHaveLength(Math.ceil(videoBytes / PART_SIZE));
    const post = await stack.gql<{
      post: { caption: string; hashtags: string[]; media: { type: string; altText: string }[] };
    }>(`query($id: ID!) { post(id: $id) { caption hashtags media { type altText } } }`, {
      id: postId,
    });
    expect(post.data?.post).toEqual({
      caption: 'Sunset over the bay #golden_hour',
      hashtags: ['golden_hour'],
      media: [
        { type: 'IMAGE', altText: 'The bay at sunset' },
        { type: 'VIDEO', altText: 'Waves rolling in' },
      ],
    });

    // ---- ada edits her profile
    await ada.click('nav ::-p-text(Profile)');
    await ada.waitForSelector('#profile-name');
    await ada.click('::-p-text(Edit profile)');
    await ada.waitForSelector('textarea[name=bio]');
    await ada.type('textarea[name=bio]', 'Poet of numbers');
    await ada.type('input[name=website]', 'https://ada.example');
    await ada.click('form[aria-label=Profile] button[type=submit]');
    await ada.waitForSelector('::-p-text(Saved.)');
    await shot(ada, '07-settings');

    // ---- bob signs up, finds ada by name and follows her
    await bob.goto(`${origin}/signup`, { waitUntil: 'networkidle0' });
    await bob.type('input[name=username]', 'bob_web');
    await bob.type('input[name=email]', 'bob_web@example.com');
    await bob.type('input[name=password]', 'another fine password');
    await bob.click('button[type=submit]');
    await bob.waitForSelector('::-p-text(Your feed is empty)');
    await reloadUntil(bob, `${origin}/search?q=Ada`, '.users a[href="/u/ada_web"]');
    await shot(bob, '08-search-people');
    await bob.click('.users a[href="/u/ada_web"]');
    await bob.waitForSelector('::-p-text(Poet of numbers)');
    await bob.waitForSelector('.grid img');
    await shot(bob, '09-profile');
    await bob.click('::-p-aria(Follow ada_web)');
    await bob.waitForSelector('::-p-aria(Following ada_web: unfollow)');
    await bob.waitForSelector('.counts ::-p-text(1 followers)');
    await shot(bob, '10-profile-following');

    // ---- the post reaches bob's feed
    await reloadUntil(bob, `${origin}/`, `article.post a[href="/p/${postId}"]`);
    await bob.waitForSelector('article.post img.loaded');
    await shot(bob, '11-feed');
    if (process.env.WEB_SCREENSHOT_FEED) {
      await copyFile(path.join(OUT, '11-feed.png'), process.env.WEB_SCREENSHOT_FEED);
    }
    await bob.click('::-p-aria(Next photo or video)');
    await bob.waitForSelector('article.post video');

    // ---- bob finds it by hashtag and by caption
    await reloadUntil(
      bob,
      `${origin}/search?q=${encodeURIComponent('#golden_hour')}`,
      `.grid a[href="/p/${postId}"]`,
    );
    await shot(bob, '12-search-hashtag');
    await reloadUntil(bob, `${origin}/search?q=sunset%20bay`, `.grid a[href="/p/${postId}"]`);
    await shot(bob, '13-search-caption');

    // ---- ada's followers list shows bob; bob logs out and back in
    await bob.goto(`${origin}/u/ada_web/followers`, { waitUntil: 'networkidle0' });
    await bob.waitForSelector('.users a[href="/u/bob_web"]');
    await shot(bob, '14-followers');
    await bob.click('nav ::-p-text(Log out)');
    await bob.waitForSelector('form[aria-label="Log in"]');
    await bob.type('input[name=username]', 'bob_web');
    await bob.type('input[name=password]', 'another fine password');
    await bob.click('button[type=submit]');
    await bob.waitForSelector(`article.post a[href="/p/${postId}"]`);

    // ---- ada goes private: a new follower's button says Requested until she approves
    await ada.goto(`${origin}/settings`, { waitUntil: 'networkidle0' });
    await ada.click('input[name=isPrivate]');
    await ada.waitForSelector('input[name=isPrivate]:checked');
    await bob.goto(`${origin}/u/ada_web`, { waitUntil: 'networkidle0' });
    await bob.click('::-p-aria(Following ada_web: unfollow)');
    await bob.waitForSelector('::-p-aria(Follow ada_web)');
    await bob.click('::-p-aria(Follow ada_web)');
    await bob.waitForSelector('::-p-aria(Requested to follow ada_web: withdraw the request)');
    // Not followed any more: her posts are gone from the profile on screen.
    await bob.waitForSelector('::-p-text(This account is private)');
    expect(await bob.$(`.grid a[href="/p/${postId}"]`)).toBeNull();
    await shot(bob, '15-profile-requested');
    await ada.goto(`${origin}/requests`, { waitUntil: 'networkidle0' });
    await ada.waitForSelector('::-p-aria(Follow requests, 1 pending)');
    await shot(ada, '16-follow-requests');
    await ada.click('::-p-aria(Approve bob_web)');
    await ada.waitForSelector('::-p-text(No pending requests.)');
    await bob.reload({ waitUntil: 'networkidle0' });
    await bob.waitForSelector('::-p-aria(Following ada_web: unfollow)');
    await bob.waitForSelector(`.grid a[href="/p/${postId}"]`);

    await measure(bob, postId);
  }

  /**
   * Issue #18's browser figures, into test-results/web/timings.json: the first screen (the log
   * in form) in a fresh browser context (cold cache) and reloaded (warm), and the feed's first
   * image (its resource timing's responseEnd, from navigation start) with a warm cache.
   */
  async function measure(bob: Page, postId: string) {
    const screen = async (page: Page, load: () => Promise<unknown>) => {
      await load();
      await page.waitForSelector('form[aria-label="Log in"]');
      const rendered = (await page.evaluate('performance.now()')) as number;
      const nav = (await page.evaluate(
        'JSON.stringify(performance.getEntriesByType("navigation")[0])',
      )) as string;
      const { domContentLoadedEventEnd, loadEventEnd } = JSON.parse(nav) as Record<string, number>;
      const bytes = (await page.evaluate(
        'performance.getEntriesByType("resource").reduce((n, r) => n + r.transferSize, 0)',
      )) as number;
      return {
        formRenderedMs: Math.round(rendered),
        domContentLoadedMs: Math.round(domContentLoadedEventEnd!),
        loadMs: Math.round(loadEventEnd!),
        assetBytesTransferred: bytes,
      };
    };
    const fresh = await (await browser.createBrowserContext()).newPage();
    const cold = await screen(fresh, () => fresh.goto(`${origin}/login`, { waitUntil: 'load' }));
    const warm = await screen(fresh, () => fresh.reload({ waitUntil: 'load' }));
    await fresh.browserContext().close();

    await bob.goto(`${origin}/`, { waitUntil: 'load' });
    await bob.waitForSelector(`article.post a[href="/p/${postId}"]`);
    await bob.waitForSelector('article.post img.loaded');
    const firstImage = (await bob.evaluate(
      `Math.min(...performance.getEntriesByType("resource")
        .filter((r) => r.initiatorType === "img").map((r) => r.responseEnd))`,
    )) as number;
    const timings = {
      when: new Date().toISOString(),
      firstScreenCold: cold,
      firstScreenWarm: warm,
      feedFirstImageMs: Math.round(firstImage),
    };
    expect(cold.formRenderedMs).toBeGreaterThan(0);
    expect(warm.assetBytesTransferred).toBeLessThan(cold.assetBytesTransferred);
    expect(Number.isFinite(firstImage)).toBe(true);
    await writeFile(path.join(OUT, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
  }
});
