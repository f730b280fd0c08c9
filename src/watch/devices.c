/* placeholder: being written */
#include "watch/watch_internal.h"
