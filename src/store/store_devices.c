/* placeholder: being written */
#include "store/store_devices.h"
