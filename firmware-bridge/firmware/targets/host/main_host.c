/* h3lix-mcu-host: the reference firmware as a process on a pseudo-terminal.
 *   h3lix-mcu-host --pty LINK [--flash FILE]
 * Creates a pty, links LINK to its slave side, prints "pty /dev/pts/N" on stdout and runs the firmware
 * main loop until SIGTERM/SIGINT. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "app.h"
#include "hal.h"

extern int host_uart_fd;
extern const char *host_flash_path;
static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }
static app_t app;

int main(int argc, char **argv) {
  const char *link = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--pty") && i + 1 < argc) link = argv[++i];
    else if (!strcmp(argv[i], "--flash") && i + 1 < argc) host_flash_path = argv[++i];
    else { fprintf(stderr, "usage: %s --pty LINK [--flash FILE]\n", argv[0]); return 64; }
  }
  if (!link) { fprintf(stderr, "usage: %s --pty LINK [--flash FILE]\n", argv[0]); return 64; }
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) || unlockpt(master)) { perror("h3lix-mcu: pty"); return 71; }
  const char *slave = ptsname(master);
  /* Hold the slave open ourselves so the master never sees a hangup between host connections. */
  int hold = open(slave, O_RDWR | O_NOCTTY);
  struct termios tio;
  if (hold < 0 || tcgetattr(hold, &tio)) { perror("h3lix-mcu: slave"); return 71; }
  cfmakeraw(&tio);
  cfsetispeed(&tio, B115200);
  cfsetospeed(&tio, B115200);
  tcsetattr(hold, TCSANOW, &tio);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  unlink(link);
  if (symlink(slave, link)) { perror("h3lix-mcu: symlink"); return 73; }
  host_uart_fd = master;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  printf("pty %s\n", slave);
  fflush(stdout);
  app_init(&app);
  while (!stop) {
    app_poll(&app);
    hal_idle(10);
  }
  unlink(link);
  return 0;
}
