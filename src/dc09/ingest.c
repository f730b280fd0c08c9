/* placeholder: being written */
#include "dc09/ingest.h"
