// The C interface of the C++ rivals (include/Rivals.h). No exception
// crosses it: every Boost call that can throw is caught here and turned into
// false/NULL plus a one-line reason.
#include "Rivals.h"

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdio>
#include <cstring>
#include <new>

namespace {

template <size_t Size> struct Record { unsigned char bytes[Size]; };
template <size_t Size>
using Queue = boost::lockfree::spsc_queue<Record<Size>, boost::lockfree::capacity<RIVAL_BOOST_SPSC_CAPACITY>>;

// Calls `f` with the queue type for `size`; returns `fallback` for other sizes.
template <typename F, typename R> R withSize(size_t size, R fallback, F f) {
    switch (size) {
    case 8: return f(static_cast<Queue<8> *>(nullptr));
    case 64: return f(static_cast<Queue<64> *>(nullptr));
    case 1024: return f(static_cast<Queue<1024> *>(nullptr));
    default: return fallback;
    }
}

void describe(char *error, size_t size, const char *what, const char *detail) {
    if (error && size > 0) std::snprintf(error, size, "%s: %s", what, detail);
}

using boost::interprocess::message_queue;

} // namespace

extern "C" size_t rival_boost_spsc_footprint(size_t message_size) {
    return withSize(message_size, size_t(0), [](auto *q) { return sizeof(*q); });
}

extern "C" bool rival_boost_spsc_init(void *at, size_t message_size) {
    return withSize(message_size, false, [at](auto *q) {
        new (at) std::remove_pointer_t<decltype(q)>();
        return true;
    });
}

extern "C" bool rival_boost_spsc_push(void *queue, size_t message_size, const void *message) {
    return withSize(message_size, false, [&](auto *q) {
        using Q = std::remove_pointer_t<decltype(q)>;
        using R = typename Q::value_type;
        return static_cast<Q *>(queue)->push(*static_cast<const R *>(message));
    });
}

extern "C" bool rival_boost_spsc_pop(void *queue, size_t message_size, void *message) {
    return withSize(message_size, false, [&](auto *q) {
        using Q = std::remove_pointer_t<decltype(q)>;
        using R = typename Q::value_type;
        return static_cast<Q *>(queue)->pop(*static_cast<R *>(message));
    });
}

extern "C" void rival_boost_spsc_floor_produce(void *queue, uint64_t count) {
    auto *q = static_cast<Queue<8> *>(queue);
    for (uint64_t sequence = 0; sequence < count;) {
        Record<8> record;
        std::memcpy(record.bytes, &sequence, 8);
        if (q->push(record)) sequence++;
    }
}

extern "C" uint64_t rival_boost_spsc_floor_consume(void *queue, uint64_t count) {
    auto *q = static_cast<Queue<8> *>(queue);
    uint64_t wrong = 0;
    for (uint64_t expected = 0; expected < count;) {
        Record<8> record;
        if (q->pop(record)) {
            uint64_t value;
            std::memcpy(&value, record.bytes, 8);
            wrong += value != expected;
            expected++;
        }
    }
    return wrong;
}

extern "C" bool rival_boost_mq_create(const char *name, size_t capacity, size_t message_size, char *error, size_t error_size) {
    try {
        message_queue queue(boost::interprocess::create_only, name, capacity, message_size,
                            boost::interprocess::permissions(0600));
        return true;
    } catch (const std::exception &e) {
        describe(error, error_size, "boost message_queue create", e.what());
        return false;
    }
}

extern "C" void *rival_boost_mq_open(const char *name, char *error, size_t error_size) {
    try {
        return new message_queue(boost::interprocess::open_only, name);
    } catch (const std::exception &e) {
        describe(error, error_size, "boost message_queue open", e.what());
        return nullptr;
    }
}

extern "C" bool rival_boost_mq_send(void *queue, const void *message, size_t message_size, char *error, size_t error_size) {
    try {
        static_cast<message_queue *>(queue)->send(message, message_size, 0);
        return true;
    } catch (const std::exception &e) {
        describe(error, error_size, "boost message_queue send", e.what());
        return false;
    }
}

extern "C" bool rival_boost_mq_receive(void *queue, void *message, size_t message_size, char *error, size_t error_size) {
    try {
        message_queue::size_type received = 0;
        unsigned int priority = 0;
        static_cast<message_queue *>(queue)->receive(message, message_size, received, priority);
        if (received != message_size) {
            describe(error, error_size, "boost message_queue receive", "short message");
            return false;
        }
        return true;
    } catch (const std::exception &e) {
        describe(error, error_size, "boost message_queue receive", e.what());
        return false;
    }
}

extern "C" int rival_boost_mq_try_receive(void *queue, void *message, size_t message_size, char *error, size_t error_size) {
    try {
        message_queue::size_type received = 0;
        unsigned int priority = 0;
        if (!static_cast<message_queue *>(queue)->try_receive(message, message_size, received, priority)) return 0;
        if (received != message_size) {
            describe(error, error_size, "boost message_queue receive", "short message");
            return -1;
        }
        return 1;
    } catch (const std::exception &e) {
        describe(error, error_size, "boost message_queue receive", e.what());
        return -1;
    }
}

extern "C" void rival_boost_mq_close(void *queue) { delete static_cast<message_queue *>(queue); }

extern "C" bool rival_boost_mq_remove(const char *name) { return message_queue::remove(name); }
