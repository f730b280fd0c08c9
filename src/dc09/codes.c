/* placeholder: being written */
#include "dc09/codes.h"
