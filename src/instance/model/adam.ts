/** One parameter tensor with Adam moments (Kingma & Ba 2015, default betas 0.9/0.999, eps 1e-8). */
export class AdamParam {
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly grad: Float64Array;
  constructor(readonly value: Float64Array) {
    this.m = new Float64Array(value.length);
    this.v = new Float64Array(value.length);
    this.grad = new Float64Array(value.length);
  }
  step(lr: number, t: number): void {
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let i = 0; i < this.value.length; i++) {
      const g = this.grad[i]!;
      this.m[i] = b1 * this.m[i]! + (1 - b1) * g;
      this.v[i] = b2 * this.v[i]! + (1 - b2) * g * g;
      this.value[i]! -= (lr * (this.m[i]! / c1)) / (Math.sqrt(this.v[i]! / c2) + 1e-8);
      this.grad[i] = 0;
    }
  }
}
