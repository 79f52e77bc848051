#include "fuzz_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_ring(data, size, false);
	return 0;
}
