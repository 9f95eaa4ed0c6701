// Write coalescing for the raw limit, as a tuned RPC stack would do it: frames queue up and go to
// the socket at most 16 per write; whatever is left is flushed once at the end of the tick.
export const MAX_FRAMES_PER_WRITE = 16;

/** Returns `write(frame)`: queues a frame; the socket sees one write per 16 frames or per tick. */
export function coalescingWriter(socket, max = MAX_FRAMES_PER_WRITE) {
  let queue = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const frames = queue;
    queue = [];
    socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  };
  return (frame) => {
    queue.push(frame);
    if (queue.length >= max) flush();
    else if (!scheduled) {
      scheduled = true;
      process.nextTick(flush);
    }
  };
}
