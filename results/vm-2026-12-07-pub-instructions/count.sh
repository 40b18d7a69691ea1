#!/bin/sh
# Instructions per line of `ringbench pub` and `ringbench sub` (lines framing), counted by callgrind:
# now one mode of bench/count-instructions.sh (which also counts pub --broadcast and pub --journal).
#   count.sh TEXT BINARY...   (prints: binary, lines, pub and sub per line)
exec "$(dirname "$0")/../../bench/count-instructions.sh" pub "$@"
