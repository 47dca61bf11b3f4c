/** Checks a byte range for ranged reads: start ≥ 0, end ≥ start when given. */
export function checkRange(range?: { start: number; end?: number }): void {
  if (!range) return;
  if (!Number.isInteger(range.start) || range.start < 0) throw new RangeError("range.start must be a non-negative integer");
  if (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start))
    throw new RangeError("range.end must be an integer >= range.start");
}
