/* A shared library that proves it was loaded: its constructor writes the file named by
 * OPENORCH_PROBE_MARKER. Used as a libpq "SSL engine" (sslkey=/path/lib.so:key) to show
 * that a connection string from the Orchestrator's page never loads code. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void openorch_probe_loaded(void) {
    const char *path = getenv("OPENORCH_PROBE_MARKER");
    if (path == NULL) {
        return;
    }
    FILE *marker = fopen(path, "w");
    if (marker != NULL) {
        fputs("loaded\n", marker);
        fclose(marker);
    }
}
