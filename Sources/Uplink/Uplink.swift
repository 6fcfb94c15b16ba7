enum UplinkPlaceholder {}
