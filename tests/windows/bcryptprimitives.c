/* The one export of bcryptprimitives.dll that Rust's standard library imports (since 1.78), for
 * Debian's wine 8.0, which lacks the DLL: ProcessPrng fills a buffer with random bytes, here from
 * advapi32's RtlGenRandom (SystemFunction036). For the tests only: tests/windows.rs builds it with
 * mingw-w64 and puts it in the wine prefix's system32. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n)) {
            return FALSE;
        }
        data += n;
        length -= n;
    }
    return TRUE;
}
