#pragma once
// All CAF atoms and custom message type ids of ActorMQ, in one place.
// Atoms live in our namespace: CAF predefines get_atom, put_atom, ok_atom...

#include <caf/all.hpp>

namespace actormq {

}  // namespace actormq
