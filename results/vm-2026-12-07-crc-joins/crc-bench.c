#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
uint32_t old_crc(uint32_t, const void*, size_t); uint32_t new_crc(uint32_t, const void*, size_t);
uint32_t new_sw(uint32_t, const void*, size_t);
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(void){
  size_t N = 1<<20; unsigned char *b = malloc(N+64); srand(7); for(size_t i=0;i<N+64;i++) b[i]=rand();
  int bad=0;
  for (size_t len=0; len<=3000; len++) for (int off=0; off<3; off++) {
     uint32_t s=new_sw(0x1234,b+off,len), n=new_crc(0x1234,b+off,len), o=old_crc(0x1234,b+off,len);
     if (s!=n||s!=o){ if(bad++<5) printf("len %zu off %d sw %08x new %08x old %08x\n",len,off,s,n,o);} }
  size_t bigs[] = {12287,12288,12289,24575,24576,24577,50000,100000,1<<20};
  for (int i=0;i<9;i++){ size_t len=bigs[i]; if(new_sw(0,b,len)!=new_crc(0,b,len)) {bad++; printf("big %zu\n",len);} }
  printf("mismatches %d\n", bad);
  size_t sizes[] = {36, 64, 200, 1044, 4096, 65536, 1<<20};
  for (int s=0;s<7;s++){ size_t len=sizes[s]; size_t reps = (size_t)(2e9/ (len+64));
    for (int v=0; v<2; v++){ double best=1e9; for(int k=0;k<5;k++){ double t0=now(); uint32_t acc=0; size_t off=0;
      for(size_t r=0;r<reps/5;r++){ acc^= (v? new_crc:old_crc)(acc, b + off, len); off += len; if (off + len > N) off = 0; }
      double t=now()-t0; if(t<best)best=t; if(acc==42) printf("x"); }
      printf("len %7zu %s %.2f GB/s  %.1f ns/call\n", len, v?"new":"old", (reps/5)*(double)len/best/1e9, best/(reps/5)*1e9); } }
}
