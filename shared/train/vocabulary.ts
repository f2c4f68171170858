// A fixed token vocabulary: one string per id, encode/decode with clear errors.

export class Vocabulary {
  private readonly ids = new Map<string, number>();

  constructor(readonly tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error('vocabulary: needs at least one token');
    tokens.forEach((t, i) => {
      if (this.ids.has(t)) throw new Error(`vocabulary: token ${JSON.stringify(t)} appears twice`);
      this.ids.set(t, i);
    });
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number {
    const id = this.ids.get(token);
    if (id === undefined) throw new Error(`vocabulary: ${JSON.stringify(token)} is not a token of this vocabulary`);
    return id;
  }

  /** Encodes a string whose tokens are single characters. */
  encode(text: string): number[] {
    return Array.from(text, (c) => this.id(c));
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokens[ids[i]];
      if (t === undefined) throw new Error(`vocabulary: id ${ids[i]} is outside [0, ${this.size})`);
      s += t;
    }
    return s;
  }
}
