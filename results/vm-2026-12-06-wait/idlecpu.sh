#!/bin/bash
# idlecpu.sh BIN WAIT SECONDS [RATE]: CPU used by a `sub --wait WAIT` consumer over SECONDS.
# Without RATE: its producer (pub reading a FIFO kept open, never written) sends nothing: an idle consumer.
# With RATE: pub --count sends RATE records/s (16 B) for the whole time.
BIN=$1; WAIT=$2; SECS=$3; RATE=$4
name=bk-idle-$$
dir=$(mktemp -d /tmp/backoff/idle.XXXX)
if [ -z "$RATE" ]; then
  mkfifo $dir/in; exec 3<>$dir/in
  $BIN pub $name --wait $WAIT --directory $dir < $dir/in 3>&- & pub=$!
else
  count=$(( RATE * (SECS + 3) ))
  $BIN pub $name --wait $WAIT --directory $dir --count $count --size 16 --rate $RATE & pub=$!
fi
$BIN sub $name --wait $WAIT --directory $dir > /dev/null 3>&- & sub=$!
sleep 1.5
t() { awk '{print $14+$15}' /proc/$sub/stat; }
a=$(t); sleep $SECS; b=$(t)
hz=$(getconf CLK_TCK)
python3 -c "print('sub --wait %-8s rate=%-6s cpu %.2f %% of one CPU over %s s' % ('$WAIT', '${RATE:-idle}', ($b-$a)/$hz/$SECS*100, $SECS))"
if [ -z "$RATE" ]; then exec 3>&-; fi
wait $pub; wait $sub
rm -rf $dir
