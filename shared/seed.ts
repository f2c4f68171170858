// The one schema for a seed in a job spec: a 32-bit unsigned integer (what kernels/random.ts
// seeds from), 1 when not given.
import { z } from 'zod';

export const seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1)
  .default(1);
