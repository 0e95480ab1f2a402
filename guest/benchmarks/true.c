/* lb-true: does nothing and exits 0; what forkexec executes. */
#include "rt.h"

int bench_main(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        return 0;
}
