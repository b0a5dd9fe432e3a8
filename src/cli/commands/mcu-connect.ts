import { systemClock } from '../../util/clock.js';
import { serialLink, type OpenLink } from '../../../firmware-bridge/src/link/link.js';
import { McuClient } from '../../../firmware-bridge/src/mcu/client.js';
import { McuPowerClient } from '../../../firmware-bridge/src/mcu/power-client.js';

/** A companion-MCU client on a serial path, for one CLI command. */
export interface McuConnection {
  client: McuClient;
  power: McuPowerClient;
  close(): Promise<void>;
}

export async function connectMcu(path: string, baudRate = 115200): Promise<McuConnection> {
  const link: OpenLink = await serialLink({ path, baudRate }).open();
  const client = new McuClient({ stream: link.stream, clock: systemClock });
  client.start();
  return {
    client,
    power: new McuPowerClient(client),
    close: async () => {
      client.stop();
      await link.close();
    },
  };
}
