/**
 * MQTT 3.1.1 packets written by hand, so their sizes are exact and a test can send what no client
 * library would (an announced length the body never reaches, a CONNECT cut in half).
 */

/** Remaining Length [MQTT-2.2.3]. */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A length-prefixed UTF-8 string or binary field [MQTT-1.5.3]. */
export function mqttString(s: string | Buffer): Buffer {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** A CONNECT, clean session, keepalive 60 s; with username and password when given [MQTT-3.1]. */
export function connectPacket(clientId: string, login?: { username: string; password: string | Buffer }): Buffer {
  const flags = login ? 0xc2 : 0x02;
  const body = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags, 0, 60]), mqttString(clientId), ...(login ? [mqttString(login.username), mqttString(login.password)] : [])]);
  return Buffer.concat([Buffer.from([0x10, ...varint(body.length)]), body]);
}

/** The fixed and variable header of a QoS 0 PUBLISH announcing `payloadBytes` of payload. */
export function publishHeader(topic: string, payloadBytes: number): Buffer {
  return Buffer.concat([Buffer.from([0x30, ...varint(2 + Buffer.byteLength(topic) + payloadBytes)]), mqttString(topic)]);
}
