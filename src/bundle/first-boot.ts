import { stringify } from 'yaml';

/**
 * First-boot files for a freshly flashed board (docs/bundle.md "First boot"). Copied onto the SD card's
 * boot partition next to `h3lix/<bundle>.tar.gz`:
 * - `user-data`, `meta-data`, `network-config`: cloud-init NoCloud seed (Raspberry Pi OS Trixie reads
 *   them from the boot partition; Ubuntu on Jetson from a `CIDATA` volume),
 * - `firstrun.sh`: the same steps for older Pi OS images (Imager's `systemd.run=/boot/firstrun.sh`).
 * Both run one install script that checks the bundle's sha256 pinned here (the bundle was verified
 * against the fleet key when these files were made), installs it into A/B slots, creates the service
 * user with serial access, places the config and the fleet claim (0600) and enables the service.
 */
export interface FirstBootInput {
  /** File name of the bundle (in `h3lix/` on the boot partition). */
  bundleName: string;
  /** sha256 of the bundle tarball, hex. */
  bundleSha256: string;
  /** The h3lix.yaml text (validated by the caller). */
  configYaml: string;
  /** Board profile name for the unit's --board. */
  board: string;
  /** Where the board image files go (config `fleet.imageDir`). */
  imageDir: string;
  /** Board image files (fleet.json, claim.json) by name, verbatim bytes; absent without --claim. */
  imageFiles: Record<string, Uint8Array>;
  /** Hostname to set. */
  hostname: string;
  /** Optional Wi-Fi network. */
  wifi?: { ssid: string; password: string; country: string };
}

export interface FirstBootFiles {
  'user-data': string;
  'meta-data': string;
  'network-config': string;
  'firstrun.sh': string;
}

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The install script both first-boot paths run, as root, with the bundle path as $1. */
export function installScript(i: FirstBootInput): string {
  return `#!/bin/sh
# h3lix-edge first boot: install the bundle, service user, config, claim; enable the service.
set -eu
bundle=""
for d in /boot/firmware/h3lix /boot/h3lix /var/lib/cloud/seed/nocloud/h3lix /media/CIDATA/h3lix; do
  [ -f "$d/${i.bundleName}" ] && bundle="$d/${i.bundleName}" && break
done
[ -n "$bundle" ] || { echo "h3lix first boot: ${i.bundleName} not found on the boot partition" >&2; exit 1; }
echo "${i.bundleSha256}  $bundle" | sha256sum -c - >/dev/null || { echo "h3lix first boot: $bundle sha256 mismatch" >&2; exit 1; }
id h3lix >/dev/null 2>&1 || useradd --system --home-dir /var/lib/h3lix --shell /usr/sbin/nologin --groups dialout h3lix
install -d -m 0755 /etc/h3lix /opt/h3lix
install -d -m 0700 -o h3lix -g h3lix /var/lib/h3lix ${shq(i.imageDir)}
work=$(mktemp -d)
tar -xzf "$bundle" -C "$work"
"$work"/h3lix-*/bin/h3lix bundle install "$bundle" --root /opt/h3lix --fleet-key "$work/fleet.json" --health-cmd true
rm -rf "$work"
ln -sf /opt/h3lix/current/bin/h3lix /usr/local/bin/h3lix
sed 's|--board [a-z0-9-]*|--board ${i.board}|' /opt/h3lix/current/devices/systemd/h3lix.service > /etc/systemd/system/h3lix.service
systemctl daemon-reload
systemctl enable h3lix.service
systemctl start --no-block h3lix.service
`;
}

/** The files placed on the board, by absolute path: content, mode, owner. */
function placed(i: FirstBootInput): { path: string; content: Uint8Array; mode: string; owner: string }[] {
  return [
    { path: '/etc/h3lix/h3lix.yaml', content: Buffer.from(i.configYaml), mode: '0640', owner: 'root:h3lix' },
    ...Object.entries(i.imageFiles).map(([name, content]) => ({ path: `${i.imageDir}/${name}`, content, mode: '0600', owner: 'h3lix:h3lix' })),
  ];
}

/** Generate the cloud-init seed and firstrun.sh. */
export function firstBootFiles(i: FirstBootInput): FirstBootFiles {
  const script = installScript(i);
  // fleet.json is also needed by the installer before the image dir exists: keep a copy in the work dir.
  const fleetJson = i.imageFiles['fleet.json'];
  const scriptWithKey = fleetJson ? script.replace('tar -xzf "$bundle" -C "$work"\n', `tar -xzf "$bundle" -C "$work"\necho ${b64(fleetJson)} | base64 -d > "$work/fleet.json"\n`) : script;
  const userData = {
    hostname: i.hostname,
    users: ['default', { name: 'h3lix', system: true, homedir: '/var/lib/h3lix', shell: '/usr/sbin/nologin', groups: 'dialout', lock_passwd: true }],
    write_files: [
      // defer: written in the final stage, after the h3lix user exists (owner h3lix).
      ...placed(i).map((f) => ({ path: f.path, encoding: 'b64', content: b64(f.content), permissions: f.mode, owner: f.owner, defer: true })),
      { path: '/usr/local/sbin/h3lix-firstboot', encoding: 'b64', content: b64(scriptWithKey), permissions: '0755', owner: 'root:root', defer: true },
    ],
    runcmd: [['/usr/local/sbin/h3lix-firstboot']],
  };
  const network: Record<string, unknown> = {
    network: {
      version: 2,
      ethernets: { wired: { match: { name: 'e*' }, dhcp4: true, optional: true } },
      ...(i.wifi ? { wifis: { wlan0: { dhcp4: true, optional: true, 'regulatory-domain': i.wifi.country, 'access-points': { [i.wifi.ssid]: { password: i.wifi.password } } } } } : {}),
    },
  };
  const writes = placed(i)
    .map((f) => `install -d -m 0700 -o h3lix -g h3lix "$(dirname ${shq(f.path)})" 2>/dev/null || install -d "$(dirname ${shq(f.path)})"\necho ${b64(f.content)} | base64 -d > ${shq(f.path)}\nchmod ${f.mode} ${shq(f.path)}\nchown ${f.owner} ${shq(f.path)}`)
    .join('\n');
  const firstrun = `#!/bin/bash
# h3lix-edge first boot for Raspberry Pi OS images without cloud-init (Imager: cmdline.txt
# "systemd.run=/boot/firstrun.sh"). Generated by h3lix image config; runs once, then removes itself.
set -eu
hostnamectl set-hostname ${shq(i.hostname)} 2>/dev/null || echo ${shq(i.hostname)} > /etc/hostname
id h3lix >/dev/null 2>&1 || useradd --system --home-dir /var/lib/h3lix --shell /usr/sbin/nologin --groups dialout h3lix
${writes}
echo ${b64(scriptWithKey)} | base64 -d > /usr/local/sbin/h3lix-firstboot
chmod 0755 /usr/local/sbin/h3lix-firstboot
/usr/local/sbin/h3lix-firstboot
for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do [ -f "$f" ] && sed -i 's| systemd.run[^ ]*||g; s| systemd.run_success_action[^ ]*||g; s| systemd.unit[^ ]*||g' "$f"; done
rm -f /boot/firstrun.sh /boot/firmware/firstrun.sh
exit 0
`;
  return {
    'user-data': `#cloud-config\n# h3lix-edge first boot, generated by \`h3lix image config\` (docs/bundle.md).\n${stringify(userData, { lineWidth: 0 })}`,
    'meta-data': `instance-id: h3lix-${i.hostname}\nlocal-hostname: ${i.hostname}\n`,
    'network-config': stringify(network, { lineWidth: 0 }),
    'firstrun.sh': firstrun,
  };
}
