import { z } from 'zod';

/** `node:` this board's place in the fleet. */
export const nodeSection = z
  .object({
    /** Node id; `auto` derives it from the identity public key on first start. */
    id: z.string().regex(/^(auto|[A-Za-z0-9_-]{1,64})$/, 'must be "auto" or 1-64 of [A-Za-z0-9_-]').default('auto'),
    /** Fleet name, the `<fleet>` segment of every topic. */
    fleet: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_-]').default('demo'),
    /** Directory for the durable state (field, outbox, identity, energy history). */
    dataDir: z.string().min(1).default('./data'),
    /** Board profile name from devices/ (e.g. rpi-4). */
    board: z.string().min(1).default('generic-x86'),
  })
  .strict()
  .default({ id: 'auto', fleet: 'demo', dataDir: './data', board: 'generic-x86' });
