#ifndef KENPO_CZLIB_SHIM_H
#define KENPO_CZLIB_SHIM_H
#include <zlib.h>
#endif
