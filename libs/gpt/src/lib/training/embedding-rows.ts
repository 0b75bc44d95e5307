/**
 * The token embedding's lookup gradient of one step in sparse form: for each token looked up, its
 * id and the gradient row [C] of its embedding. A step of B·T tokens touches at most B·T of the V
 * rows of `wte.weight` (2,048 of 50,257 for B=8, T=256), so this is what a data-parallel step sends
 * instead of the dense [V, C] gradient. Legend: N tokens, U distinct ids, C channels.
 */

/** Lookup-gradient rows collected over a step's micro-batches. */
export class EmbeddingRows {
  private readonly ids: Int32Array[] = [];
  private readonly rows: Float32Array[] = [];
  /** Each add's own factor (its micro-batch's share of the rows). */
  private readonly weights: number[] = [];
  /** Factor applied to every row when summed (the trainer's 1 / micro-batches). */
  scale = 1;

  constructor(
    /** C: the embedding width. */
    readonly width: number,
  ) {}

  /** Adds the rows [N · C] of tokens `ids` [N], times `weight` (copied: backward frees its tensors). */
  add(ids: Int32Array, rows: Float32Array, weight = 1): void {
    if (rows.length !== ids.length * this.width) {
      throw new RangeError(`${rows.length} gradient values for ${ids.length} tokens of width ${this.width}`);
    }
    this.ids.push(ids);
    this.rows.push(Float32Array.from(rows));
    this.weights.push(weight);
  }

  /** Forgets every row (the start of a step). */
  clear(): void {
    this.ids.length = 0;
    this.rows.length = 0;
    this.weights.length = 0;
    this.scale = 1;
  }

  /**
   * Sums the rows, times {@link scale}, into `packed` [U · C], where row u holds the gradient of id
   * `tokens[u]` (`tokens` ascending, a superset of the ids looked up). Overwrites `packed`.
   */
  sumPacked(tokens: Int32Array, packed: Float32Array): void {
    const C = this.width;
    const slot = new Map<number, number>();
    tokens.forEach((id, u) => slot.set(id, u));
    packed.fill(0, 0, tokens.length * C);
    this.ids.forEach((ids, m) => {
      const rows = this.rows[m];
      const factor = this.scale * this.weights[m];
      ids.forEach((id, t) => {
        const u = slot.get(id);
        if (u === undefined) throw new RangeError(`token ${id} is not among the packed tokens`);
        for (let c = 0; c < C; c++) packed[u * C + c] += rows[t * C + c] * factor;
      });
    });
  }

  /** Adds the rows, times {@link scale}, to a dense [V · C] gradient of the embedding. */
  addInto(table: Float32Array): void {
    const C = this.width;
    // Per id, the rows are summed first and then added, as a dense segment-sum gradient would be.
    const tokens = this.distinctIds();
    const packed = new Float32Array(tokens.length * C);
    this.sumPacked(tokens, packed);
    addPackedRows(table, tokens, packed, C);
  }

  /** The distinct ids looked up, ascending. */
  distinctIds(): Int32Array {
    const seen = new Set<number>();
    for (const ids of this.ids) for (const id of ids) seen.add(id);
    return Int32Array.from(seen).sort();
  }
}

/** Adds packed rows [U · C] to rows `tokens` [U] of a dense [V · C] table. */
export function addPackedRows(
  table: Float32Array,
  tokens: Int32Array,
  packed: Float32Array,
  C: number,
): void {
  tokens.forEach((id, u) => {
    for (let c = 0; c < C; c++) table[id * C + c] += packed[u * C + c];
  });
}

/** The ids whose entry in a summed presence vector [V] is positive, ascending. */
export function presentIds(presence: Float32Array): Int32Array {
  const ids: number[] = [];
  presence.forEach((count, id) => {
    if (count > 0) ids.push(id);
  });
  return Int32Array.from(ids);
}
