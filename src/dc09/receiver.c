/* placeholder: being written */
#include "dc09/receiver.h"
