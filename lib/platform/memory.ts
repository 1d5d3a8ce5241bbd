// Bounded memory while streaming large bodies. Every socket read allocates a fresh Buffer
// whose memory lives outside the V8 heap; V8 frees those only at its next garbage
// collection, which external allocations alone trigger after about 64 MB. A proxy that
// streams a 500 MB upload therefore holds ~64 MB of dead Buffers at its peak. A minor GC
// (a scavenge, about a millisecond) every few MB frees them as the stream goes.
import { Transform } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor' }) => void;
let gc: Gc | null | undefined;

function collector(): Gc | null {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as Gc;
    } catch {
      gc = null; // not available: memory is still bounded, just at V8's own threshold
    }
  }
  return gc;
}

/** A pass-through stream that runs a minor GC after every `everyBytes` that flow through. */
export function collectEvery(everyBytes = 8 * 1024 * 1024): Transform {
  let since = 0;
  const run = collector();
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      since += chunk.length;
      if (since >= everyBytes && run) {
        since = 0;
        run({ type: 'minor' });
      }
      done(null, chunk);
    },
  });
}
