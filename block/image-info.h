/*
 * QEMU's ImageInfo as JSON: the object qemu-img info --output=json prints
 * for one image and query-block nests under "image".
 */
#ifndef HYVM_IMAGE_INFO_H
#define HYVM_IMAGE_INFO_H

#include <json-glib/json-glib.h>

#include "block/block.h"

/* with_backing_image: nest the opened backing chain as "backing-image"
 * (query-block does; qemu-img info --backing-chain lists them instead). */
JsonNode *bdrv_image_info(struct bdrv *bs, bool with_backing_image);

#endif
