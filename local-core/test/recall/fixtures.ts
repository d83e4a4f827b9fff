/** A realistic notes file: five sections, each long enough to be its own chunk. */
export const NOTES_MD = `# Health

Dentist: my next appointment is with Dr. Lee on Tuesday at 9:30 at the clinic on Elm Street.
Bring the insurance card, arrive ten minutes early, and ask about the cracked molar on the left.
The receptionist said to call the day before if I need to move the appointment to another day.
Last cleaning was in March; the hygienist recommended a softer toothbrush.

# Garden

The tomatoes need deep watering twice a week in summer, early in the morning before the heat.
Mulch the beds with straw to keep the soil moist and the weeds down. Pinch the side shoots weekly.
The basil goes beside the tomatoes; the mint stays in its pot or it takes over the whole bed.
Compost gets turned every second weekend; add dry leaves when it smells too wet.

# Car

The car insurance renewal is due in March: compare at least three quotes before then.
The tyres were changed in October and the next service is at 60,000 kilometres.
Keep the spare key in the kitchen drawer. The garage on Mill Road does honest repairs and fair prices.
The windscreen has a small chip on the passenger side that should be filled before winter.

# Recipes

Lentil soup: soften onions, carrots and celery in olive oil, add red lentils, cumin and stock,
simmer for twenty-five minutes, then blend half of it and finish with lemon juice.
Pancakes: two eggs, a cup of flour, a cup of milk, a pinch of salt; rest the batter for an hour.
Bread: five hundred grams of flour, ten grams of salt, seven of yeast, three hundred and fifty of water.

# Travel

Passport expires in 2027. The train to the coast leaves at 8:05 on weekdays from platform 4.
For the summer trip, book the cabin by the lake before April; the ferry needs a reservation too.
Pack the rain jackets: it rains most afternoons there in July. The neighbours will water the plants.
`;
