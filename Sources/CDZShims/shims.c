#include "dzshims.h"
