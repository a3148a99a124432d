/**
 * A status endpoint answers promptly even while a dependency hangs: `work`'s result if it
 * settles within `ms`, otherwise (or if it fails) `fallback`, which the endpoint reports as
 * "unknown" or "unreachable" instead of holding the caller until a driver gives up.
 */
export async function answerWithin<T, F>(
  work: Promise<T>,
  ms: number,
  fallback: F,
): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => {
      resolve(fallback);
    }, ms);
  });
  try {
    return await Promise.race([work.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}
