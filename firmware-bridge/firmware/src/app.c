#include <string.h>
#include "app.h"
#include "codec.h"
#include "hal.h"
#include "ina219.h"
#ifdef H3LIX_EMU
#include "model.h"
#endif

#define MEASURE_REAL_MS 100u

/* LiFePO4 4S rested OCV in mV at SOC 0, 10 .. 100 % (src/energy/ocv.ts), to anchor coulomb counting. */
static const uint16_t OCV_MV[11] = {10000, 12000, 12600, 12800, 12900, 13000, 13100, 13200, 13300, 13400, 13600};

static int soc_from_mv(uint32_t mv) {
  if (mv <= OCV_MV[0]) return 0;
  for (int i = 1; i < 11; i++)
    if (mv <= OCV_MV[i]) return (i - 1) * 100 + (int)((mv - OCV_MV[i - 1]) * 100u / (uint32_t)(OCV_MV[i] - OCV_MV[i - 1]));
  return 1000;
}

uint64_t app_wall_ms(const app_t *a) { return (uint64_t)((int64_t)a->mono_ms + a->wall_offset_ms); }

static void send(const app_t *a, uint8_t type, uint16_t seq, const uint8_t *payload, size_t n) {
  (void)a;
  uint8_t pkt[PROTO_HEADER + PROTO_MAX_PAYLOAD + PROTO_CRC];
  uint8_t enc[PROTO_HEADER + PROTO_MAX_PAYLOAD + PROTO_CRC + 3];
  if (n > PROTO_MAX_PAYLOAD) return;
  pkt[0] = PROTO_VERSION;
  pkt[1] = type;
  wr16(pkt + 2, seq);
  if (n) memcpy(pkt + PROTO_HEADER, payload, n);
  uint16_t crc = crc16_ccitt_false(pkt, PROTO_HEADER + n);
  pkt[PROTO_HEADER + n] = (uint8_t)(crc >> 8); /* CRC big-endian */
  pkt[PROTO_HEADER + n + 1] = (uint8_t)crc;
  size_t len = cobs_encode(pkt, PROTO_HEADER + n + PROTO_CRC, enc, sizeof enc - 1);
  if (!len) return;
  enc[len++] = 0;
  hal_uart_write(enc, len);
}

static void ack(app_t *a, uint8_t type, uint16_t seq) { send(a, MSG_ACK, seq, &type, 1); }
static void nack(app_t *a, uint8_t type, uint16_t seq, uint8_t reason) {
  uint8_t p[2] = {type, reason};
  send(a, MSG_NACK, seq, p, 2);
}

static void send_reading(app_t *a, uint16_t seq) {
  uint8_t p[23];
  const measure_t *m = &a->m;
  p[0] = (uint8_t)((m->soc_pm >= 0 ? 1 : 0) | (m->load_ok ? 2 : 0) | (m->pv_ok ? 4 : 0));
  wr32(p + 1, m->batt_mv);
  wr32(p + 5, (uint32_t)m->batt_ma);
  wr32(p + 9, m->pv_ok ? m->pv_mv : 0);
  wr32(p + 13, m->pv_ok ? m->pv_mw : 0);
  wr32(p + 17, m->load_ok ? m->load_mw : 0);
  wr16(p + 21, (uint16_t)(m->soc_pm >= 0 ? m->soc_pm : 0));
  send(a, MSG_READING, seq, p, sizeof p);
}

static void send_info(app_t *a, uint16_t seq) {
  uint8_t p[44];
  const char *name = hal_board_name();
  size_t n = strlen(name);
  if (n > 32) n = 32;
  p[0] = FW_MAJOR; p[1] = FW_MINOR; p[2] = FW_PATCH; p[3] = 1; /* INA219 */
  wr32(p + 4, a->set.sample_ms);
  wr32(p + 8, (uint32_t)(a->mono_ms / 1000u));
  memcpy(p + 12, name, n);
  send(a, MSG_INFO, seq, p, 12 + n);
}

static void send_status(app_t *a, uint16_t seq) {
  uint8_t p[20];
  const power_t *w = &a->pwr;
  wr32(p, a->wall_valid ? (uint32_t)(app_wall_ms(a) / 1000u) : 0);
  p[4] = w->wake_reason;
  p[5] = w->state;
  wr16(p + 6, w->wd_timeout_s);
  wr16(p + 8, w->wd_off_s);
  wr32(p + 10, w->slept_s);
  wr16(p + 14, w->power_ons);
  wr16(p + 16, a->rejects);
  wr16(p + 18, w->ack_timeouts);
  send(a, MSG_STATUS, seq, p, sizeof p);
}

static power_inputs_t inputs(const app_t *a) {
  power_inputs_t in = {a->mono_ms, a->wall_valid ? (uint32_t)(app_wall_ms(a) / 1000u) : 0, a->m.soc_pm, a->m.batt_mv};
  return in;
}

static void handle(app_t *a, const uint8_t *pkt, size_t len) {
  uint8_t type = pkt[1];
  uint16_t seq = rd16(pkt + 2);
  const uint8_t *pl = pkt + PROTO_HEADER;
  size_t n = len - PROTO_HEADER - PROTO_CRC;
  if (pkt[0] != PROTO_VERSION) return nack(a, type, seq, NACK_BAD_VERSION);
  power_heartbeat(&a->pwr, a->mono_ms); /* any valid request shows the host is alive */
  switch (type) {
    case MSG_PING: return send(a, MSG_PONG, seq, pl, n);
    case MSG_GET_INFO: return n ? nack(a, type, seq, NACK_BAD_LENGTH) : send_info(a, seq);
    case MSG_GET_READING: return n ? nack(a, type, seq, NACK_BAD_LENGTH) : send_reading(a, seq);
    case MSG_GET_STATUS: return n ? nack(a, type, seq, NACK_BAD_LENGTH) : send_status(a, seq);
    case MSG_HEARTBEAT: return n ? nack(a, type, seq, NACK_BAD_LENGTH) : ack(a, type, seq);
    case MSG_SET_SAMPLE_INTERVAL: {
      if (n != 4) return nack(a, type, seq, NACK_BAD_LENGTH);
      uint32_t ms = rd32(pl);
      if (ms < 100 || ms > 3600000) return nack(a, type, seq, NACK_OUT_OF_RANGE);
      a->set.sample_ms = ms;
      settings_save(&a->set);
      a->next_sample_ms = a->mono_ms + ms;
      return ack(a, type, seq);
    }
    case MSG_SET_LOAD:
      if (n != 2) return nack(a, type, seq, NACK_BAD_LENGTH);
      if (pl[0] > 7 || pl[1] > 1) return nack(a, type, seq, NACK_OUT_OF_RANGE);
      a->loads = (uint8_t)((a->loads & ~(1u << pl[0])) | ((unsigned)pl[1] << pl[0]));
      return ack(a, type, seq);
    case MSG_SET_TIME: {
      if (n != 4) return nack(a, type, seq, NACK_BAD_LENGTH);
      uint32_t s = rd32(pl);
      if (s < 1577836800u) return nack(a, type, seq, NACK_OUT_OF_RANGE); /* before 2020: not a real clock */
      a->wall_offset_ms = (int64_t)s * 1000 - (int64_t)a->mono_ms;
      a->wall_valid = 1;
      return ack(a, type, seq);
    }
    case MSG_SET_WATCHDOG: {
      if (n != 4) return nack(a, type, seq, NACK_BAD_LENGTH);
      uint16_t t = rd16(pl), off = rd16(pl + 2);
      if ((t != 0 && (t < 10 || t > 3600)) || off < 1 || off > 3600) return nack(a, type, seq, NACK_OUT_OF_RANGE);
      a->pwr.wd_timeout_s = a->set.wd_timeout_s = t;
      a->pwr.wd_off_s = a->set.wd_off_s = off;
      settings_save(&a->set);
      return ack(a, type, seq);
    }
    case MSG_POWER_OFF: {
      if (n != 13) return nack(a, type, seq, NACK_BAD_LENGTH);
      power_inputs_t in = inputs(a);
      if (a->pwr.state == PWR_PENDING && a->pwr.mode == pl[0] && a->pwr.value == rd32(pl + 1)) return ack(a, type, seq); /* retry */
      int r = power_request(&a->pwr, &in, pl[0], rd32(pl + 1), rd16(pl + 5), rd16(pl + 7), rd32(pl + 9));
      return r ? nack(a, type, seq, (uint8_t)r) : ack(a, type, seq);
    }
    case MSG_SHUTDOWN_ACK: {
      int r = n ? NACK_BAD_LENGTH : power_ack(&a->pwr, a->mono_ms);
      return r ? nack(a, type, seq, (uint8_t)r) : ack(a, type, seq);
    }
    case MSG_POWER_CANCEL: {
      int r = n ? NACK_BAD_LENGTH : power_cancel(&a->pwr);
      return r ? nack(a, type, seq, (uint8_t)r) : ack(a, type, seq);
    }
    case MSG_FW_BEGIN: case MSG_FW_CHUNK: case MSG_FW_FINISH: case MSG_FW_GET_STATE: {
      uint8_t st[FWU_STATE_LEN];
      int r = type == MSG_FW_BEGIN ? fwu_begin(&a->fwu, pl, n, st)
              : type == MSG_FW_CHUNK ? fwu_chunk(&a->fwu, pl, n, st)
              : n ? NACK_BAD_LENGTH
              : type == MSG_FW_FINISH ? fwu_finish(&a->fwu, st)
              : (fwu_state(&a->fwu, st), 0);
      return r ? nack(a, type, seq, (uint8_t)r) : send(a, MSG_FW_STATE, seq, st, sizeof st);
    }
    case MSG_FW_CONFIRM: {
      int r = n ? NACK_BAD_LENGTH : fwu_confirm(&a->fwu);
      return r ? nack(a, type, seq, (uint8_t)r) : ack(a, type, seq);
    }
    case MSG_FW_RESET:
      if (n) return nack(a, type, seq, NACK_BAD_LENGTH);
      if (!a->fwu.avail) return nack(a, type, seq, NACK_FW_STORAGE);
      ack(a, type, seq);
      hal_reset(); /* the boot stage decides which slot runs next */
      return;
#ifdef H3LIX_EMU
    case MSG_EMU_SET: {
      if (n != 10) return nack(a, type, seq, NACK_BAD_LENGTH);
      uint16_t speed = rd16(pl), soc = rd16(pl + 2), scale = rd16(pl + 8);
      uint32_t host_mw = rd32(pl + 4);
      if (speed < 1 || speed > 10000 || (soc != 0xFFFF && soc > 1000) || (scale != 0xFFFF && scale > 1000)) return nack(a, type, seq, NACK_OUT_OF_RANGE);
      a->speed = speed;
      if (soc != 0xFFFF) {
        emu_model.soc = soc / 1000.0;
        a->m.soc_pm = soc; /* re-anchor the counter as a fresh battery would be */
        a->charge_uah = (int64_t)soc * a->set.capacity_mah;
      }
      if (host_mw != 0xFFFFFFFFu) emu_model.host_w = host_mw / 1000.0;
      if (scale != 0xFFFF) emu_model.pv_scale = scale / 1000.0;
      return ack(a, type, seq);
    }
#endif
    default:
      return nack(a, type, seq, NACK_UNKNOWN_TYPE);
  }
}

static void frame_end(app_t *a) {
  uint8_t pkt[PROTO_MAX_ENCODED];
  if (a->rx_over) {
    a->rejects++;
  } else if (a->rx_len > 0) {
    int len = cobs_decode(a->rx, a->rx_len, pkt, sizeof pkt);
    if (len < PROTO_HEADER + PROTO_CRC || len > PROTO_HEADER + PROTO_MAX_PAYLOAD + PROTO_CRC || crc16_ccitt_false(pkt, (size_t)len) != 0) a->rejects++;
    else if (a->pwr.state == PWR_OFF) a->dropped_off++; /* a powered-off host cannot talk: ignore */
    else handle(a, pkt, (size_t)len);
  }
  a->rx_len = 0;
  a->rx_over = 0;
}

void app_rx_byte(app_t *a, uint8_t b) {
  if (b == 0) return frame_end(a);
  if (a->rx_len >= sizeof a->rx) a->rx_over = 1;
  else a->rx[a->rx_len++] = b;
}

static void measure(app_t *a, uint64_t dt_ms) {
  ina219_sample_t s;
  measure_t *m = &a->m;
  if (ina219_read(INA_BATTERY, &s) == 0) {
    m->batt_mv = s.bus_mv;
    m->batt_ma = s.current_ma;
    int64_t cap = (int64_t)a->set.capacity_mah * 1000;
    if (m->soc_pm < 0) a->charge_uah = (int64_t)soc_from_mv(s.bus_mv) * cap / 1000; /* anchor at power-up */
    a->charge_uah += (int64_t)s.current_ma * (int64_t)dt_ms / 3600; /* mA x ms / 3600 = uAh */
    if (a->charge_uah < 0) a->charge_uah = 0;
    if (a->charge_uah > cap) a->charge_uah = cap;
    m->soc_pm = (int)(a->charge_uah * 1000 / cap);
  }
  m->pv_ok = ina219_read(INA_PV, &s) == 0;
  if (m->pv_ok) { m->pv_mv = s.bus_mv; m->pv_mw = s.power_mw; }
  m->load_ok = ina219_read(INA_LOAD, &s) == 0;
  if (m->load_ok) m->load_mw = s.power_mw;
}

void app_init(app_t *a) {
  memset(a, 0, sizeof *a);
  settings_load(&a->set);
  a->speed = 1;
  a->m.soc_pm = -1;
  a->last_real_ms = hal_millis();
  power_init(&a->pwr, 0);
  a->pwr.wd_timeout_s = a->set.wd_timeout_s;
  a->pwr.wd_off_s = a->set.wd_off_s;
  a->pwr.cutoff_pm = a->set.cutoff_pm;
  a->pwr.restart_pm = a->set.restart_pm;
#ifdef H3LIX_EMU
  model_init(&emu_model);
  a->wall_offset_ms = 10 * 3600000; /* unset clock: the model starts at 10:00 */
#endif
  ina219_init(INA_BATTERY);
  ina219_init(INA_PV);
  ina219_init(INA_LOAD);
  a->host_on = 1;
  hal_host_power(1);
  a->next_sample_ms = a->set.sample_ms;
  static const uint8_t version[3] = {FW_MAJOR, FW_MINOR, FW_PATCH};
  fwu_init(&a->fwu, version);
}

void app_poll(app_t *a) {
  uint8_t b;
  while (hal_uart_getc(&b)) app_rx_byte(a, b);
  uint32_t real = hal_millis();
  if (fwu_trial_expired(&a->fwu, real)) hal_reset(); /* never confirmed: the boot stage reverts */
  uint32_t dreal = real - a->last_real_ms;
  if (dreal >= MEASURE_REAL_MS) {
    a->last_real_ms = real;
    uint64_t dt = (uint64_t)dreal * a->speed;
    a->mono_ms += dt;
#ifdef H3LIX_EMU
    emu_model.host_on = a->host_on;
    model_step(&emu_model, dt, app_wall_ms(a));
#endif
    measure(a, dt);
  }
  power_inputs_t in = inputs(a);
  int on = power_tick(&a->pwr, &in);
  if (on != a->host_on) {
    a->host_on = (uint8_t)on;
    hal_host_power(on);
    if (on) a->next_sample_ms = a->mono_ms + a->set.sample_ms;
  }
  if (a->pwr.notice) {
    uint8_t p[3] = {1, 30, 0}; /* reason 1 low battery, grace 30 s */
    a->pwr.notice = 0;
    send(a, MSG_SHUTDOWN_NOTICE, 0, p, 3);
  }
  if (a->host_on && a->pwr.state != PWR_HALTING && a->mono_ms >= a->next_sample_ms) {
    a->next_sample_ms = a->mono_ms + a->set.sample_ms;
    send_reading(a, 0);
  }
}
