#include "actors/atoms.h"
