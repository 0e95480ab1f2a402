/* The benchmark workload's one entry point (see workload.c). */
#ifndef WORKLOAD_H
#define WORKLOAD_H
typedef unsigned int u32;
u32 workload(u32 rounds);
#endif
