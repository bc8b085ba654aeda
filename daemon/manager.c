/* Placeholder until the reconciler lands: the daemon modes are not built yet. */
#include <stdio.h>

#include "manager.h"

int manager_main(const struct run_options *opts) {
        fprintf(stderr, "kinesisd: reconciling is not implemented yet; use --check-config\n");
        return 1;
}
