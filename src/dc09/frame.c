/* placeholder: being written */
#include "dc09/frame.h"
