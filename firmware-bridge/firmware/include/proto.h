/* Companion-MCU protocol v1 constants (firmware-bridge/README.md "Companion-MCU protocol"). */
#ifndef H3LIX_PROTO_H
#define H3LIX_PROTO_H

#define PROTO_VERSION 1
#define PROTO_HEADER 4
#define PROTO_CRC 2
#define PROTO_MAX_PAYLOAD 64
#define PROTO_MAX_ENCODED 256

enum msg_type {
  MSG_READING = 0x01, MSG_ACK = 0x02, MSG_NACK = 0x03,
  MSG_PING = 0x10, MSG_PONG = 0x11, MSG_GET_INFO = 0x12, MSG_INFO = 0x13,
  MSG_SET_SAMPLE_INTERVAL = 0x20, MSG_SET_LOAD = 0x21, MSG_GET_READING = 0x22,
  /* power protocol (README "Power protocol") */
  MSG_SET_TIME = 0x23, MSG_GET_STATUS = 0x24, MSG_STATUS = 0x25,
  MSG_POWER_OFF = 0x30, MSG_SHUTDOWN_ACK = 0x31, MSG_POWER_CANCEL = 0x32,
  MSG_HEARTBEAT = 0x33, MSG_SET_WATCHDOG = 0x34, MSG_SHUTDOWN_NOTICE = 0x35,
  /* firmware update (README "Firmware updates") */
  MSG_FW_BEGIN = 0x40, MSG_FW_CHUNK = 0x41, MSG_FW_FINISH = 0x42, MSG_FW_CONFIRM = 0x43,
  MSG_FW_RESET = 0x44, MSG_FW_GET_STATE = 0x45, MSG_FW_STATE = 0x46,
  /* emulated targets only: drive the battery/PV model */
  MSG_EMU_SET = 0x7E,
};

enum nack_reason { NACK_UNKNOWN_TYPE = 1, NACK_BAD_LENGTH = 2, NACK_OUT_OF_RANGE = 3, NACK_BUSY = 4, NACK_BAD_VERSION = 5,
                   NACK_FW_BOARD = 6, NACK_FW_DOWNGRADE = 7, NACK_FW_DIGEST = 8, NACK_FW_STORAGE = 9, NACK_FW_STATE = 10,
                   NACK_FW_SIGNATURE = 11 /* image not signed by the fleet key compiled into the firmware */ };

#endif
