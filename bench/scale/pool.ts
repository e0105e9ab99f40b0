// A fixed number of callers over indexes 0 … total-1, each taking the next when its last is done.
export async function pool(concurrency: number, total: number, call: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const caller = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, caller));
}
