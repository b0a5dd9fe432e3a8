/* cmocka unit tests of the firmware core: codec vectors (firmware-bridge/README.md), the frame checks,
 * the power state machine and settings. The UART of the host HAL is a pipe here. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>
#include "app.h"
#include "codec.h"
#include "power.h"
#include "settings.h"

extern int host_uart_fd;
extern const char *host_flash_path;
static int pipe_rd;

static void test_crc_check_value(void **s) {
  (void)s;
  assert_int_equal(crc16_ccitt_false((const uint8_t *)"123456789", 9), 0x29B1);
  const uint8_t ping[6] = {0x01, 0x10, 0x01, 0x00, 0x82, 0x26};
  assert_int_equal(crc16_ccitt_false(ping, 6), 0); /* CRC over packet + big-endian CRC is 0 */
}

static void test_cobs_vector(void **s) {
  (void)s;
  const uint8_t ping[6] = {0x01, 0x10, 0x01, 0x00, 0x82, 0x26};
  const uint8_t wire[7] = {0x04, 0x01, 0x10, 0x01, 0x03, 0x82, 0x26};
  uint8_t out[16], back[16];
  assert_int_equal(cobs_encode(ping, 6, out, sizeof out), 7);
  assert_memory_equal(out, wire, 7);
  assert_int_equal(cobs_decode(wire, 7, back, sizeof back), 6);
  assert_memory_equal(back, ping, 6);
  const uint8_t bad[3] = {0x05, 0x01, 0x02}; /* code runs past the end */
  assert_int_equal(cobs_decode(bad, 3, back, sizeof back), -1);
  assert_int_equal(cobs_encode(ping, 6, out, 6), 0); /* does not fit: refused, no overflow */
}

static size_t drain(uint8_t *buf, size_t cap) {
  ssize_t n = read(pipe_rd, buf, cap);
  return n > 0 ? (size_t)n : 0;
}

static void feed(app_t *a, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) app_rx_byte(a, p[i]);
}

static void test_frames(void **s) {
  (void)s;
  static app_t a;
  uint8_t buf[512];
  app_init(&a);
  drain(buf, sizeof buf);
  const uint8_t ping[8] = {0x04, 0x01, 0x10, 0x01, 0x03, 0x82, 0x26, 0x00};
  feed(&a, ping, sizeof ping);
  size_t n = drain(buf, sizeof buf);
  const uint8_t pong[8] = {0x04, 0x01, 0x11, 0x01, 0x03, 0xb5, 0x16, 0x00}; /* PONG seq 1 */
  assert_int_equal(n, 8);
  assert_memory_equal(buf, pong, 8);
  uint8_t corrupt[8];
  memcpy(corrupt, ping, 8);
  corrupt[6] ^= 0x01; /* bad CRC: dropped and counted */
  feed(&a, corrupt, 8);
  assert_int_equal(drain(buf, sizeof buf), 0);
  assert_int_equal(a.rejects, 1);
  uint8_t longf[300];
  memset(longf, 0x41, sizeof longf);
  feed(&a, longf, sizeof longf);
  app_rx_byte(&a, 0);
  assert_int_equal(a.rejects, 2);
  /* SET_SAMPLE_INTERVAL seq 0x0102 1000 ms (README vector) → ACK */
  const uint8_t set[12] = {0x07, 0x01, 0x20, 0x02, 0x01, 0xe8, 0x03, 0x01, 0x03, 0x61, 0x73, 0x00};
  feed(&a, set, sizeof set);
  n = drain(buf, sizeof buf);
  assert_true(n > 4);
  assert_int_equal(buf[2], 0x02); /* ACK type after the COBS code byte */
  feed(&a, ping, sizeof ping);
  assert_int_equal(drain(buf, sizeof buf), 8);
}

static void test_power_request_checks(void **s) {
  (void)s;
  power_t p;
  power_init(&p, 0);
  power_inputs_t in = {0, 0, 500, 13000};
  assert_int_equal(power_request(&p, &in, OFF_UNTIL_WALL, 100, 10, 0, 0), 3); /* clock unset: out of range */
  assert_int_equal(power_request(&p, &in, 9, 100, 10, 0, 0), 3);
  assert_int_equal(power_request(&p, &in, OFF_DURATION, 0, 10, 0, 0), 3);
  assert_int_equal(power_request(&p, &in, OFF_DURATION, 60, 0, 0, 0), 3); /* grace 0 */
  assert_int_equal(power_request(&p, &in, OFF_UNTIL_SOC, 1001, 10, 0, 0), 3);
  assert_int_equal(power_request(&p, &in, OFF_DURATION, 60, 10, 5, 0), 0);
  assert_int_equal(power_request(&p, &in, OFF_DURATION, 60, 10, 5, 0), 4); /* busy */
  assert_int_equal(power_cancel(&p), 0);
  assert_int_equal(p.state, PWR_ON);
}

static void test_power_handshake_and_wake(void **s) {
  (void)s;
  power_t p;
  power_init(&p, 0);
  power_inputs_t in = {1000, 0, 500, 13000};
  assert_int_equal(power_request(&p, &in, OFF_DURATION, 60, 10, 5, 0), 0);
  in.now_ms = 2000;
  assert_int_equal(power_tick(&p, &in), 1); /* still on while waiting for the ack */
  assert_int_equal(power_ack(&p, 2000), 0);
  in.now_ms = 6999;
  assert_int_equal(power_tick(&p, &in), 1); /* halting: 5 s for the OS */
  in.now_ms = 7000;
  assert_int_equal(power_tick(&p, &in), 0);
  assert_int_equal(p.state, PWR_OFF);
  in.now_ms = 66999;
  assert_int_equal(power_tick(&p, &in), 0);
  in.now_ms = 67000;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.wake_reason, WAKE_TIMER);
  assert_int_equal(p.slept_s, 60);
  assert_int_equal(p.power_ons, 2);
  assert_int_equal(p.ack_timeouts, 0);
}

static void test_power_ack_timeout_and_thresholds(void **s) {
  (void)s;
  power_t p;
  power_init(&p, 0);
  power_inputs_t in = {0, 1800000000u, 300, 12800};
  assert_int_equal(power_request(&p, &in, OFF_UNTIL_SOC, 400, 10, 0, 3600), 0);
  in.now_ms = 10000;
  assert_int_equal(power_tick(&p, &in), 0); /* no ack in 10 s: cut anyway */
  assert_int_equal(p.ack_timeouts, 1);
  in.soc_pm = 399;
  in.now_ms = 20000;
  assert_int_equal(power_tick(&p, &in), 0);
  in.soc_pm = 400;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.wake_reason, WAKE_SOC);
  /* the cap wakes a host whose threshold never comes */
  assert_int_equal(power_request(&p, &in, OFF_UNTIL_VOLTAGE, 13500, 1, 0, 60), 0);
  assert_int_equal(power_ack(&p, in.now_ms), 0);
  power_tick(&p, &in);
  in.now_ms += 60000;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.wake_reason, WAKE_MAX_OFF);
  /* wall time */
  assert_int_equal(power_request(&p, &in, OFF_UNTIL_WALL, in.wall_s + 100, 1, 0, 0), 0);
  power_ack(&p, in.now_ms);
  power_tick(&p, &in);
  in.wall_s += 100;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.wake_reason, WAKE_WALL);
}

static void test_watchdog_and_low_battery(void **s) {
  (void)s;
  power_t p;
  power_init(&p, 0);
  p.wd_timeout_s = 30;
  p.wd_off_s = 5;
  power_inputs_t in = {29999, 0, 500, 13000};
  assert_int_equal(power_tick(&p, &in), 1);
  power_heartbeat(&p, 29999);
  in.now_ms = 59998;
  assert_int_equal(power_tick(&p, &in), 1); /* the heartbeat restarted the count */
  in.now_ms = 59999;
  assert_int_equal(power_tick(&p, &in), 0);
  in.now_ms = 64999;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.wake_reason, WAKE_WATCHDOG);
  p.wd_timeout_s = 0;
  in.soc_pm = 50;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.state, PWR_PENDING);
  assert_int_equal(p.notice, 1);
  assert_int_equal(power_ack(&p, in.now_ms), 0);
  in.now_ms += 10000;
  assert_int_equal(power_tick(&p, &in), 0);
  in.now_ms += 10u * 86400u * 1000u; /* no cap: stays off while the battery is flat */
  assert_int_equal(power_tick(&p, &in), 0);
  in.soc_pm = 150;
  assert_int_equal(power_tick(&p, &in), 1);
  assert_int_equal(p.wake_reason, WAKE_LOW_BATTERY);
}

static void test_settings_checksum(void **s) {
  (void)s;
  char path[] = "/tmp/h3lix-fw-settings-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  host_flash_path = path;
  settings_t a, b;
  assert_int_equal(settings_load(&a), 0); /* blank page: defaults */
  a.sample_ms = 5000;
  assert_int_equal(settings_save(&a), 0);
  assert_int_equal(settings_load(&b), 1);
  assert_int_equal(b.sample_ms, 5000);
  FILE *f = fopen(path, "r+b"); /* flip one bit of the stored interval */
  fseek(f, (long)offsetof(settings_t, sample_ms), SEEK_SET);
  fputc(0x89, f);
  fclose(f);
  assert_int_equal(settings_load(&b), 0);
  assert_int_equal(b.sample_ms, 1000);
  unlink(path);
  host_flash_path = NULL;
}

int main(void) {
  int fds[2];
  if (pipe(fds)) return 1;
  pipe_rd = fds[0];
  fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
  host_uart_fd = fds[1];
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crc_check_value), cmocka_unit_test(test_cobs_vector), cmocka_unit_test(test_frames),
    cmocka_unit_test(test_power_request_checks), cmocka_unit_test(test_power_handshake_and_wake),
    cmocka_unit_test(test_power_ack_timeout_and_thresholds), cmocka_unit_test(test_watchdog_and_low_battery),
    cmocka_unit_test(test_settings_checksum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
