/** Levenshtein distance; small inputs (identifiers), so the O(n*m) table is fine. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length];
}

/**
 * The closest names to `name`, best first (ties by name), at most `limit`. A candidate counts
 * when it needs fewer edits than 75 % of the name's length (at least 2 allowed), so a typo finds
 * its column but an unrelated name is not suggested.
 */
export function closestNames(name: string, candidates: readonly string[], limit = 3): string[] {
  const maxDistance = Math.max(2, Math.ceil(name.length * 0.75) - 1);
  return candidates
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .filter((c) => c.distance <= maxDistance && c.candidate !== name)
    .sort((a, b) => a.distance - b.distance || (a.candidate < b.candidate ? -1 : 1))
    .slice(0, limit)
    .map((c) => c.candidate);
}
