#ifndef KENPO_CLIBXML2_SHIM_H
#define KENPO_CLIBXML2_SHIM_H
// Debian's libxml2 pulls in ICU headers, which clash with Foundation's in debug builds
// ("'UErrorCode' has different definitions"); kenpo never needs libxml2's ICU support.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlmemory.h>

// xmlFree is a global function pointer; Swift 6 rejects it as not concurrency-safe.
static inline void kenpo_xmlFree(void *p) { xmlFree(p); }
#endif
