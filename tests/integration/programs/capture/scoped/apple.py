def pick(colour):
    return colour.title()
