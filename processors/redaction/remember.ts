// Verdicts about attribute keys and names, remembered: the same few keys come in every
// record, while judging one takes set lookups, case folding and pattern tests. The memory
// is bounded (emptied when full) and long keys are judged each time, not kept.

/** Longer keys are judged each time, not remembered. */
const MAX_REMEMBERED_LENGTH = 128;

/** `judge`, remembering up to `maxKeys` answers (undefined answers included). */
export function remembered<T>(judge: (key: string) => T, maxKeys: number): (key: string) => T {
  const answers = new Map<string, T>();
  return (key) => {
    const hit = answers.get(key);
    if (hit !== undefined || answers.has(key)) return hit as T;
    const answer = judge(key);
    if (key.length <= MAX_REMEMBERED_LENGTH) {
      if (answers.size >= maxKeys) answers.clear();
      answers.set(key, answer);
    }
    return answer;
  };
}
