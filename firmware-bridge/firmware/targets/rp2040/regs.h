/* RP2040 register addresses used by the bare-metal target (RP2040 datasheet, build 2023-06, sections
 * 2.14 resets, 2.16 XOSC, 2.15 clocks, 2.19 GPIO, 4.2 UART (PL011), 4.3 I2C (DW_apb_i2c), 4.6 timer,
 * 4.7 watchdog tick, 2.3.1 SIO). Atomic aliases: +0x2000 set bits, +0x3000 clear bits (2.1.2). */
#ifndef H3LIX_RP2040_REGS_H
#define H3LIX_RP2040_REGS_H
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define SET(a) REG((a) + 0x2000u)
#define CLR(a) REG((a) + 0x3000u)

#define RESETS 0x4000C000u
#define RESETS_RESET (RESETS + 0x0u)
#define RESETS_DONE (RESETS + 0x8u)
#define RST_I2C0 (1u << 3)
#define RST_IO_BANK0 (1u << 5)
#define RST_PADS_BANK0 (1u << 8)
#define RST_TIMER (1u << 21)
#define RST_UART0 (1u << 22)

#define XOSC_CTRL 0x40024000u
#define XOSC_STATUS 0x40024004u
#define XOSC_STARTUP 0x4002400Cu

#define CLOCKS 0x40008000u
#define CLK_REF_CTRL (CLOCKS + 0x30u)
#define CLK_REF_SELECTED (CLOCKS + 0x38u)
#define CLK_SYS_CTRL (CLOCKS + 0x3Cu)
#define CLK_SYS_SELECTED (CLOCKS + 0x44u)
#define CLK_PERI_CTRL (CLOCKS + 0x48u)

#define WATCHDOG_TICK 0x4005802Cu

#define IO_BANK0 0x40014000u
#define GPIO_CTRL(n) (IO_BANK0 + 8u * (n) + 4u)
#define PADS_BANK0 0x4001C000u
#define PAD(n) (PADS_BANK0 + 4u + 4u * (n))
#define FUNC_UART 2u
#define FUNC_I2C 3u
#define FUNC_SIO 5u

#define SIO 0xD0000000u
#define SIO_GPIO_OUT_SET (SIO + 0x14u)
#define SIO_GPIO_OUT_CLR (SIO + 0x18u)
#define SIO_GPIO_OE_SET (SIO + 0x24u)

#define UART0 0x40034000u
#define UART_DR (UART0 + 0x00u)
#define UART_FR (UART0 + 0x18u)
#define UART_IBRD (UART0 + 0x24u)
#define UART_FBRD (UART0 + 0x28u)
#define UART_LCR_H (UART0 + 0x2Cu)
#define UART_CR (UART0 + 0x30u)
#define UART_IMSC (UART0 + 0x38u)
#define UART_ICR (UART0 + 0x44u)
#define UART_FR_TXFF (1u << 5)
#define UART_FR_RXFE (1u << 4)

#define I2C0 0x40044000u
#define IC_CON (I2C0 + 0x00u)
#define IC_TAR (I2C0 + 0x04u)
#define IC_DATA_CMD (I2C0 + 0x10u)
#define IC_FS_SCL_HCNT (I2C0 + 0x1Cu)
#define IC_FS_SCL_LCNT (I2C0 + 0x20u)
#define IC_RAW_INTR_STAT (I2C0 + 0x34u)
#define IC_RX_TL (I2C0 + 0x38u)
#define IC_TX_TL (I2C0 + 0x3Cu)
#define IC_CLR_TX_ABRT (I2C0 + 0x54u)
#define IC_CLR_STOP_DET (I2C0 + 0x60u)
#define IC_ENABLE (I2C0 + 0x6Cu)
#define IC_STATUS (I2C0 + 0x70u)
#define IC_RXFLR (I2C0 + 0x78u)
#define IC_SDA_HOLD (I2C0 + 0x7Cu)
#define IC_TX_ABRT_SOURCE (I2C0 + 0x80u)
#define IC_FS_SPKLEN (I2C0 + 0xA0u)

#define TIMER 0x40054000u
#define TIMER_ALARM0 (TIMER + 0x10u)
#define TIMER_RAWH (TIMER + 0x24u)
#define TIMER_RAWL (TIMER + 0x28u)
#define TIMER_INTR (TIMER + 0x34u)
#define TIMER_INTE (TIMER + 0x38u)

#define NVIC_ISER 0xE000E100u
#define SCB_VTOR 0xE000ED08u
#define SCB_AIRCR 0xE000ED0Cu

#define IRQ_TIMER0 0u
#define IRQ_UART0 20u

#endif
