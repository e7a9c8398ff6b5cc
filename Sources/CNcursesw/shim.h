#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <ncursesw/ncurses.h>

/* Accessors for ncurses globals and macro constants, which Swift 6 cannot use directly
   (mutable C globals are not concurrency-safe; function-like macros are not imported). */
static inline WINDOW *fs_stdscr(void) { return stdscr; }
static inline FILE *fs_stdin(void) { return stdin; }
static inline FILE *fs_stdout(void) { return stdout; }
static inline int fs_lines(void) { return LINES; }
static inline int fs_cols(void) { return COLS; }
static inline int fs_colors(void) { return COLORS; }
static inline int fs_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t fs_a_bold(void) { return A_BOLD; }
static inline attr_t fs_a_underline(void) { return A_UNDERLINE; }
static inline attr_t fs_a_reverse(void) { return A_REVERSE; }
static inline mmask_t fs_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t fs_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t fs_button4_pressed(void) { return BUTTON4_PRESSED; }
static inline mmask_t fs_button5_pressed(void) { return BUTTON5_PRESSED; }
/* The character encoding of the current LC_CTYPE locale ("UTF-8", "ANSI_X3.4-1968", ...). */
static inline const char *fs_locale_codeset(void) { return nl_langinfo(CODESET); }
