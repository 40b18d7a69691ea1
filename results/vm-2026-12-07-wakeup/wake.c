// One-way futex wake-up latency after the sleeper has slept for a gap.
// Parent (waker) pinned to CPU 0 spins `gap` ns, stamps time, stores, FUTEX_WAKEs.
// Child (sleeper) pinned to CPU 1 sleeps in FUTEX_WAIT (with or without timeout),
// on return reads clock: latency = now - stamp.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static uint64_t now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000ull+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);sched_setaffinity(0,sizeof s,&s);}
struct sh { volatile uint32_t word; volatile uint32_t ack; volatile uint64_t stamp; volatile uint64_t lat[4096]; };
static int cmp(const void*a,const void*b){uint64_t x=*(uint64_t*)a,y=*(uint64_t*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  uint64_t gap=strtoull(argv[1],0,10); int timeout=atoi(argv[2]); int n=atoi(argv[3]); int spinpre=argc>4?atoi(argv[4]):0;
  struct sh*s=mmap(0,sizeof *s,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  pid_t p=fork();
  if(p==0){pin(1);
    for(int i=0;i<n;i++){
      uint32_t seen=(uint32_t)i;
      // optional: spin spinpre pauses before parking (like the ring's spin)
      for(int k=0;k<spinpre && s->word==seen;k++) __builtin_ia32_pause();
      struct timespec ts={0,20000000};
      while(s->word==seen) syscall(SYS_futex,&s->word,FUTEX_WAIT,seen,timeout?&ts:NULL,0,0);
      uint64_t t=now(); s->lat[i]=t-s->stamp; __atomic_store_n(&s->ack,i+1,__ATOMIC_RELEASE);
    }
    _exit(0);}
  pin(0);
  for(int i=0;i<n;i++){
    uint64_t until=now()+gap; while(now()<until) __builtin_ia32_pause();
    s->stamp=now(); __atomic_store_n(&s->word,i+1,__ATOMIC_SEQ_CST);
    syscall(SYS_futex,&s->word,FUTEX_WAKE,1,0,0,0);
    while(__atomic_load_n(&s->ack,__ATOMIC_ACQUIRE)!=(uint32_t)(i+1)) __builtin_ia32_pause();
  }
  waitpid(p,0,0);
  uint64_t v[4096]; for(int i=0;i<n;i++) v[i]=s->lat[i]; qsort(v,n,8,cmp);
  printf("gap=%8lu ns timeout=%d spinpre=%d n=%d  p50=%.1f us p90=%.1f p99=%.1f min=%.1f\n",gap,timeout,spinpre,n,v[n/2]/1e3,v[n*9/10]/1e3,v[n*99/100]/1e3,v[0]/1e3);
}
