import { z } from 'zod';
import { parseSourceUri } from '../../../firmware-bridge/src/source/uri.js';

/**
 * `energySource:` where the daemon reads solar/battery readings from (firmware-bridge). Env override:
 * `H3LIX_ENERGY_SOURCE__URI=vedirect:/dev/ttyUSB0`.
 */
export const energySourceSection = z
  .object({
    /**
     * Source URI (`vedirect:PATH`, `mcu:PATH`, `modbus-epever:PATH?unit=1`, `modbus-renogy:PATH`,
     * `tcp://HOST:PORT?protocol=NAME`; see firmware-bridge/README.md). Default: none, meaning the board
     * profile's `serial` block decides (`sourceUriFromProfile`).
     */
    uri: z
      .string()
      .min(1)
      .superRefine((uri, ctx) => {
        try {
          parseSourceUri(uri);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .optional(),
    /** Which register map a board profile's `protocol: modbus` means. Default epever. */
    modbusVariant: z.enum(['epever', 'renogy']).default('epever'),
  })
  .strict()
  .default({ modbusVariant: 'epever' });

export type EnergySourceConfig = z.output<typeof energySourceSection>;
