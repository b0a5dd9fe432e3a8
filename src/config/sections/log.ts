import { z } from 'zod';

/** `log:` logging. */
export const logSection = z
  .object({
    /** pino level. Default info. */
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict()
  .default({ level: 'info' });
