import { writeFileSync } from 'node:fs';
import { H3lixError } from '../../../src/errors.js';
import { IMAGE_HEADER_BYTES, IMAGE_SIGNATURE_BYTES } from './image.js';

/**
 * The update flash of the QEMU mps2-an385 target, a host file the firmware reaches through semihosting
 * (layout of firmware/include/fwimage.h): boot records at 0x000/0x100, upload records at 0x200/0x300,
 * settings at 0x400, slot 0 at 0x1000, slot 1 at 0x21000, each 0x1F000 bytes; 0x40000 bytes in all.
 */
export const NV_SIZE = 0x40000;
export const NV_SLOT_SIZE = 0x1f000;
export const nvSlotAddress = (slot: 0 | 1): number => 0x1000 + slot * (NV_SLOT_SIZE + 0x1000);

/**
 * Factory programming (what a programmer does once over SWD): erased flash with `image` (a signed image's
 * bytes) in slot 0 and no boot record, which the boot stage reads as "slot 0 confirmed".
 */
export function provisionNvFlash(path: string, image: Buffer): void {
  if (image.length < IMAGE_HEADER_BYTES + IMAGE_SIGNATURE_BYTES || image.length > NV_SLOT_SIZE) throw new H3lixError('FIRMWARE_IMAGE', `image of ${image.length} bytes does not fit a slot of ${NV_SLOT_SIZE}`);
  const nv = Buffer.alloc(NV_SIZE, 0xff);
  image.copy(nv, nvSlotAddress(0));
  writeFileSync(path, nv);
}
